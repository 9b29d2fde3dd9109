from django.urls import path

from .views import add_comment

urlpatterns = [path("posts/<int:post_id>/comments", add_comment)]
