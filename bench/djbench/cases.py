"""The Django contender: django.test.TestCase, the same test logic as flaskbench.cases."""

import itertools
import json
import os

from django.test import TestCase

from .models import Author, Comment, Post

_counter = itertools.count()


def t_empty(self):
    pass


def t_onequery(self):
    Author.objects.filter(id=1).values_list("id", flat=True).first()


def t_suite(self):
    tag = f"{os.getpid()}-{next(_counter)}"
    author = Author.objects.create(name=f"author-{tag}")
    post = Post.objects.create(author=author, title=f"post {tag}")
    Comment.objects.create(post=post, body="first")
    count = Post.objects.filter(author_id=author.id).count()
    bodies = list(Comment.objects.filter(post_id=post.id).values_list("body", flat=True))
    resp = self.client.post(
        f"/posts/{post.id}/comments",
        data=json.dumps({"body": "second"}),
        content_type="application/json",
    )
    if count != 1 or bodies != ["first"] or resp.status_code != 201:
        raise AssertionError((count, bodies, resp.status_code))


WORKLOADS = {"empty": t_empty, "onequery": t_onequery, "suite": t_suite}


class DjangoTC(TestCase):
    pass


def make_classes(base, workload, n_tests, per_class, prefix="Bench", module=__name__):
    func = WORKLOADS[workload]
    classes = []
    for start in range(0, n_tests, per_class):
        count = min(per_class, n_tests - start)
        attrs = {f"test_{i:04d}": func for i in range(count)}
        attrs["__module__"] = module
        classes.append(type(f"{prefix}{workload.title()}{start // per_class:03d}", (base,), attrs))
    return classes
