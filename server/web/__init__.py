"""The managers' web app: the app factory, log-in and roles, request context, security headers, error pages,
languages, and what the page modules in `views` share."""
