from django.db import models


class User(models.Model):
    username = models.CharField(max_length=40, unique=True)

    class Meta:
        db_table = "users"


class Post(models.Model):
    author = models.ForeignKey(User, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    body = models.TextField(default="")

    class Meta:
        db_table = "posts"
