"""Every HTTP error the web app answers: under /api/ the contract's JSON `{"error": ...}` (English, as the API's
own texts), elsewhere a page in the reader's language (the phone form's own look on a customer's phone). A view's
own text (`abort(400, _("…"))`) is kept; an error with Werkzeug's stock English sentence gets ours for its status."""
from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from werkzeug.exceptions import HTTPException

TITLES = {400: lazy_gettext("请求有误"), 401: lazy_gettext("需要登录"), 403: lazy_gettext("没有权限"),
          404: lazy_gettext("页面不存在"), 405: lazy_gettext("不支持这种请求"), 409: lazy_gettext("与现有数据冲突"),
          413: lazy_gettext("提交的内容太大"), 429: lazy_gettext("请求太频繁"), 500: lazy_gettext("服务器出错")}
TEXTS = {403: lazy_gettext("您的账号没有打开这个页面的权限。"), 404: lazy_gettext("没有找到这个页面。"),
         405: lazy_gettext("这个地址不接受这种请求。"), 429: lazy_gettext("请求太频繁，请稍后再试。"),
         500: lazy_gettext("服务器处理请求时出错，请稍后再试。")}


def body_limit_kib() -> int:
    return current_app.config["MAX_CONTENT_LENGTH"] // 1024


def _own_text(error: HTTPException) -> str | None:
    """The text the view gave, None when it is Werkzeug's stock sentence for the status."""
    if error.description and error.description != type(error).description:
        return str(error.description)
    return None


def _page_text(error: HTTPException) -> str:
    own = _own_text(error)
    if own is not None:
        return own
    if error.code == 413:
        return _("提交的内容超过了 %(n)s KB 的上限，没有被处理。", n=body_limit_kib())
    return str(TEXTS.get(error.code, TITLES.get(error.code, error.name)))


def _api_text(error: HTTPException) -> str:
    own = _own_text(error)
    if own is not None:
        return own
    if error.code == 413:
        return f"the request body is larger than {body_limit_kib()} KiB"
    return error.description or error.name


def handle(error: HTTPException):
    response = error.get_response()  # the status's own headers: Allow, Retry-After, WWW-Authenticate
    if request.path.startswith("/api/"):
        response.set_data(jsonify({"error": _api_text(error)}).get_data())
        response.mimetype = "application/json"
        return response
    title = str(TITLES.get(error.code, error.name))
    if request.blueprint == "phone":  # a customer's phone: its own look, and never the text sent back
        page = render_template("phone_error.html", title=title, message=_page_text(error), text="")
    else:
        page = render_template("error.html", code=error.code, title=title, message=_page_text(error))
    response.set_data(page)
    response.mimetype = "text/html"
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle)
