from django.urls import path

from . import views

urlpatterns = [
    path("login", views.login),
    path("write", views.write),
    path("list", views.post_list),
    path("feed", views.feed),
    path("posts", views.posts_json),
    path("static/blog.css", views.css),
    path("static/feed.js", views.script),
]
