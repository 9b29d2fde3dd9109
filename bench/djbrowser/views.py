"""The example blog's pages (examples/blog/blog/pages.py and its templates), on Django."""

import pathlib

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.html import escape
from django.views.decorators.csrf import csrf_exempt

from .models import Post, User

STATIC = pathlib.Path(__file__).resolve().parents[2] / "examples" / "blog" / "blog" / "static"


def page(title, body, user=None):
    who = f'<span id="who">{escape(user.username)}</span>' if user else ""
    return HttpResponse(
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>'
        '<link rel="stylesheet" href="/static/blog.css"></head><body>'
        f'<nav><a href="/list">Posts</a> <a href="/feed">Feed</a> <a href="/write">Write</a>'
        f"{who}</nav><main>{body}</main></body></html>"
    )


def current_user(request):
    user_id = request.session.get("user_id")
    return User.objects.filter(id=user_id).first() if user_id else None


@csrf_exempt
def login(request):
    error = ""
    if request.method == "POST":
        user = User.objects.filter(username=request.POST.get("username", "")).first()
        if user is not None:
            request.session["user_id"] = user.id
            return HttpResponseRedirect("/write")
        error = '<p class="error" id="error">No such user.</p>'
    return page(
        "Log in",
        f'<h1>Log in</h1>{error}<form method="post" id="login">'
        '<label>Username <input name="username" required></label>'
        '<button type="submit">Log in</button></form>',
    )


@csrf_exempt
def write(request):
    user = current_user(request)
    if user is None:
        return HttpResponseRedirect("/login")
    if request.method == "POST":
        Post.objects.create(
            author=user, title=request.POST["title"], body=request.POST.get("body", "")
        )
        return HttpResponseRedirect("/list")
    return page(
        "Write a post",
        '<h1>Write a post</h1><form method="post" id="write">'
        '<label>Title <input name="title" required></label>'
        '<label>Body <textarea name="body"></textarea></label>'
        '<button type="submit">Publish</button></form>',
        user,
    )


def post_list(request):
    posts = Post.objects.select_related("author").order_by("id")
    items = "".join(f"<li>{escape(p.title)} by {escape(p.author.username)}</li>" for p in posts)
    empty = "" if posts else '<p id="empty">No posts yet.</p>'
    return page("Posts", f'<h1>Posts</h1><ul id="posts">{items}</ul>{empty}', current_user(request))


def feed(request):
    return page(
        "Feed",
        '<h1>Feed</h1><p id="status">Loading…</p><ul id="feed"></ul>'
        '<script src="/static/feed.js"></script>',
        current_user(request),
    )


def posts_json(request):
    rows = Post.objects.select_related("author").order_by("id")
    return JsonResponse(
        [{"id": p.id, "title": p.title, "author": p.author.username} for p in rows], safe=False
    )


def css(request):
    return HttpResponse((STATIC / "blog.css").read_bytes(), content_type="text/css")


def script(request):
    return HttpResponse((STATIC / "feed.js").read_bytes(), content_type="text/javascript")
