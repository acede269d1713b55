"""The web app's blueprints, one module per subject; they import shared web code from `server.web`, never
each other."""
