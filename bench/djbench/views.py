import json

from django.http import JsonResponse
from django.shortcuts import get_object_or_404

from .models import Comment, Post


def add_comment(request, post_id):
    post = get_object_or_404(Post, pk=post_id)
    comment = Comment.objects.create(
        post=post, body=json.loads(request.body)["body"]
    )  # autocommit: commits
    return JsonResponse({"id": comment.id}, status=201)
