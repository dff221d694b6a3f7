"""The tutorial (docs/tutorial.md) works as written: its code blocks make a site that
does what the page says.

How the project is built, in a temporary directory and with no network:

* a fresh virtualenv with the wheel built from this checkout installed by pip
  (``--no-deps --no-index``); Django, django-redis and redis-py come from this run's
  environment through a ``.pth`` file (``tests.support.venvs``), so the project imports
  ``redis_sessions`` from the wheel, never from the checkout;
* ``startproject`` (``python -m django``, what ``django-admin`` runs) and ``startapp``,
  then every code block whose first line names a file (``# blog/models.py``,
  ``<!-- blog/templates/blog/post_list.html -->``): the whole file, or, when the line
  says ``(add at the end)``, appended to it, in the order of the page;
* a few lines appended to ``mysite/settings.py`` that point the app and the cache at
  this run's Redis, under this test's key prefix (deleted afterwards by the suite's
  ``redis_keyspace`` fixture);
* the tutorial's commands, run with the venv's python: ``makemigrations``, ``migrate``,
  ``check`` (no issues), then a driver script with Django's test client (below), then
  the loops with ``--once`` and ``redis_doctor``.

Marked slow: about 7 s on two shared cores (a virtualenv, a wheel and a dozen
subprocesses).
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.support.venvs import build_wheel, clean_environ, venv_with_wheel

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"

FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
PYTHON_FILE = re.compile(r"# (?P<path>[\w/.-]+\.py)(?P<append> \(add at the end\))?")
TEMPLATE_FILE = re.compile(r"<!-- (?P<path>[\w/.-]+\.html) -->")


@dataclass(frozen=True)
class FileBlock:
    path: str
    text: str
    append: bool


def file_blocks(markdown: str) -> list[FileBlock]:
    """The code blocks that are files, in the page's order. A first line that looks
    like a file name but does not follow the convention fails loudly (the block would
    otherwise be left out of the project without a word)."""
    blocks = []
    for fence in FENCE.finditer(markdown):
        body = textwrap.dedent(fence["body"])
        first = body.split("\n", 1)[0]
        if fence["lang"] == "python" and first.startswith("# ") and ".py" in first:
            found = PYTHON_FILE.fullmatch(first)
        elif fence["lang"] in ("django", "html") and first.startswith("<!--"):
            found = TEMPLATE_FILE.fullmatch(first)
        else:
            continue
        if found is None:
            raise ValueError(f"docs/tutorial.md: a block names its file as {first!r}")
        append = bool(found.groupdict().get("append"))
        blocks.append(FileBlock(found["path"], body, append))
    return blocks


def write_project(project: Path, blocks: list[FileBlock]) -> None:
    for block in blocks:
        path = project / block.path
        if block.append:
            assert path.exists(), f"{block.path}: added to, but no earlier step made it"
            path.write_text(path.read_text() + "\n\n" + block.text)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(block.text)


def test_the_tutorials_code_blocks_are_the_files_of_the_project() -> None:
    blocks = file_blocks(TUTORIAL.read_text())
    paths = {block.path for block in blocks}

    assert {"mysite/settings.py", "mysite/urls.py", "blog/models.py", "blog/admin.py",
            "blog/views.py", "blog/urls.py", "blog/templates/blog/post_detail.html",
            "blog/templates/blog/post_list.html",
            "blog/templates/blog/bookmarks.html"} <= paths  # fmt: skip
    # settings are added to what startproject wrote, never replaced
    assert all(b.append for b in blocks if b.path == "mysite/settings.py")
    # a file is written whole before anything is added to it
    first: dict[str, FileBlock] = {}
    for block in blocks:
        first.setdefault(block.path, block)
    assert [p for p, b in first.items() if b.append] == ["mysite/settings.py"]


def test_a_block_whose_file_line_breaks_the_convention_is_refused() -> None:
    page = "```python\n# blog/views.py, at the end\nx = 1\n```\n"

    with pytest.raises(ValueError, match="names its file"):
        file_blocks(page)


# Run in the project with its settings: what each step of the tutorial says the site
# does, observed through Django's test client (setup_test_environment adds
# "testserver" to ALLOWED_HOSTS). Prints one JSON document.
DRIVER = """
import json, os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
django.setup()

from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.test.utils import setup_test_environment

import redis_sessions
from blog.models import Post
from redis_sessions.cart import Cart
from redis_sessions.pagecache import invalidate_fragment
from redis_sessions.rowcache import get_row

setup_test_environment()
seen = {"redis_sessions": redis_sessions.__file__}
hello = Post.objects.create(title="Hello, Redis", slug="hello-redis", body="First post.")
other = Post.objects.create(title="Anatomy", slug="anatomy", body="Second post.")


def page(client, url):
    response = client.get(url)
    return [response.status_code, response.get("X-Cache"), response.content.decode()]


# A cached post page: an anonymous visitor without a cookie. The post is viewed for
# the first time here (nothing else has asked for its page yet).
anonymous = Client()
seen["detail"] = [page(anonymous, "/posts/hello-redis/") for _ in range(3)]
seen["detail_query"] = page(anonymous, "/posts/hello-redis/?utm_source=newsletter")
try:
    with transaction.atomic():
        hello.title = "Rolled back"
        hello.save()
        raise RuntimeError
except RuntimeError:
    hello.refresh_from_db()
seen["detail_after_rollback"] = page(anonymous, "/posts/hello-redis/")
with transaction.atomic():
    hello.title = "Hello again, Redis"
    hello.save()
seen["detail_after_save"] = [page(anonymous, "/posts/hello-redis/") for _ in range(2)]
seen["detail_missing"] = page(anonymous, "/posts/no-such-post/")

# Sessions: the visit counter, and its visitor's post page is their own.
visitor = Client()
seen["visits"] = [page(visitor, "/visits/")[2] for _ in range(3)]
seen["detail_with_session"] = page(visitor, "/posts/hello-redis/")

# Bookmarks: a cart of posts.
reader = Client()
added = reader.post(f"/posts/{hello.pk}/bookmark/")
seen["bookmark"] = [added.status_code, added.get("Location")]
reader.post(f"/posts/{hello.pk}/bookmark/")  # twice: still one bookmark
seen["bookmarks"] = page(reader, "/bookmarks/")
seen["quantities"] = Cart.for_session_key(reader.session.session_key).quantities()
seen["detail_with_bookmarks"] = page(reader, "/posts/hello-redis/")
reader.post(f"/posts/{hello.pk}/unbookmark/")
seen["bookmarks_after_remove"] = page(reader, "/bookmarks/")

# The fragment: the post list, dropped by a save, not by an update (no signal).
seen["list"] = [page(anonymous, "/") for _ in range(2)]
Post.objects.filter(pk=other.pk).update(title="Updated quietly")
seen["list_after_update"] = page(anonymous, "/")
invalidate_fragment("post_list")
seen["list_after_invalidate"] = page(anonymous, "/")
with transaction.atomic():
    other.title = "Anatomy of a blog"
    other.save()
seen["list_after_save"] = page(anonymous, "/")

# The row cache.
seen["row"] = get_row(Post, hello.pk)
seen["row_json"] = anonymous.get(f"/posts/{hello.pk}.json").json()
with transaction.atomic():
    hello.body = "Edited."
    hello.save()
seen["row_after_save"] = get_row(Post, hello.pk)

# /health/ and the inspection pages.
health = anonymous.get("/health/")
seen["health"] = [health.status_code, health["Content-Type"], health.json()]
admin = get_user_model().objects.create_superuser("admin", "admin@example.com", "secret")
operator = Client()
seen["overview_anonymous"] = operator.get("/admin/redis_sessions/redis/").status_code
operator.force_login(admin)
overview = operator.get("/admin/redis_sessions/redis/")
seen["overview"] = [overview.status_code, overview.content.decode()]
seen["admin_index"] = page(operator, "/admin/")
print(json.dumps(seen))
"""


class Project:
    """The tutorial's project: its directory and its virtualenv's python."""

    def __init__(self, folder: Path, python: Path) -> None:
        self.folder, self.python = folder, python

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.python), *args], cwd=self.folder, capture_output=True, text=True,
            env=clean_environ(), timeout=300,
        )  # fmt: skip
        if ok:
            assert done.returncode == 0, f"{args}:\n{done.stdout}\n{done.stderr}"
        return done

    def manage(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        command = "python manage.py " + " ".join(args)
        assert command in TUTORIAL.read_text(), f"the tutorial never says `{command}`"
        return self.run("manage.py", *args, ok=ok)


def redis_lines(prefix: str) -> str:
    """Settings lines that point the project at this run's Redis, under ``prefix``."""
    url = settings.REDIS_SESSIONS.get("URL") or settings.REDIS_URL
    cluster = bool(settings.REDIS_SESSIONS.get("CLUSTER", False))
    return textwrap.dedent(f"""

        # Added by tests/app/test_tutorial.py: this run's Redis, under its own prefix.
        CACHES["default"]["LOCATION"] = {url!r}
        CACHES["default"]["KEY_PREFIX"] = {prefix!r}
        REDIS_SESSIONS["URL"] = {url!r}
        REDIS_SESSIONS["KEY_PREFIX"] = {prefix!r}
        REDIS_SESSIONS["CLUSTER"] = {cluster!r}
    """)


@pytest.fixture
def project(tmp_path: Path, redis_keyspace: str) -> Project:
    page = TUTORIAL.read_text()
    python = venv_with_wheel(tmp_path / "venv", build_wheel(tmp_path / "dist"))
    folder = tmp_path / "site"
    folder.mkdir()
    built = Project(folder, python)
    assert "django-admin startproject mysite ." in page
    built.run("-m", "django", "startproject", "mysite", ".")
    built.manage("startapp", "blog")
    write_project(folder, file_blocks(page))
    settings_py = folder / "mysite" / "settings.py"
    settings_py.write_text(settings_py.read_text() + redis_lines(redis_keyspace))
    return built


@pytest.mark.slow
def test_the_tutorial_builds_a_site_that_does_what_the_tutorial_says(project: Project) -> None:
    project.manage("makemigrations", "blog")
    project.manage("migrate")
    checked = project.manage("check")
    assert "System check identified no issues" in checked.stdout, checked.stderr

    (project.folder / "driver.py").write_text(DRIVER)
    seen: dict[str, Any] = json.loads(project.run("driver.py").stdout)

    assert seen["redis_sessions"].startswith(str(project.python.parents[1]))  # the wheel's
    # a cached post page: uncached while cold, then stored, then served from Redis
    assert [s[:2] for s in seen["detail"]] == [
        [200, "bypass; reason=cold"], [200, "miss"], [200, "hit"]]  # fmt: skip
    assert all("<h1>Hello, Redis</h1>" in s[2] for s in seen["detail"])
    assert seen["detail_query"][:2] == [200, "bypass; reason=query"]
    assert seen["detail_after_rollback"][:2] == [200, "hit"]
    # a committed save drops it: the next visitor gets the new title, then the copy
    assert [s[:2] for s in seen["detail_after_save"]] == [[200, "miss"], [200, "hit"]]
    assert all("<h1>Hello again, Redis</h1>" in s[2] for s in seen["detail_after_save"])
    assert seen["detail_missing"][0] == 404  # no item: no lookup, and the view raises Http404
    # sessions
    assert seen["visits"] == ["Visits: 1", "Visits: 2", "Visits: 3"]
    assert seen["detail_with_session"][:2] == [200, "bypass; reason=session"]
    # bookmarks
    assert seen["bookmark"] == [302, "/bookmarks/"]
    assert "Hello again, Redis" in seen["bookmarks"][2]
    assert seen["quantities"] == {str(seen["row"]["id"]): 1}
    assert seen["detail_with_bookmarks"][:2] == [200, "bypass; reason=cart"]
    assert "No bookmarks yet." in seen["bookmarks_after_remove"][2]
    # the fragment: cached (an update sends no signal), dropped by a save
    assert "Anatomy" in seen["list"][0][2] and seen["list"][0][2] == seen["list"][1][2]
    assert "Updated quietly" not in seen["list_after_update"][2]
    assert "Updated quietly" in seen["list_after_invalidate"][2]
    assert "Anatomy of a blog" in seen["list_after_save"][2]
    # the row cache
    assert seen["row"]["title"] == "Hello again, Redis" and seen["row"]["slug"] == "hello-redis"
    assert seen["row_json"] == seen["row"]
    assert seen["row_after_save"]["body"] == "Edited."
    # /health/ and the inspection pages
    status, content_type, health = seen["health"]
    assert (status, content_type) == (200, "application/json")
    assert health["ok"] is True and health["redis"]["reachable"] is True
    assert seen["overview_anonymous"] == 302  # to the admin login
    assert seen["overview"][0] == 200 and "Redis" in seen["overview"][1]
    assert "/admin/redis_sessions/redis/" in seen["admin_index"][2]

    # the loops, once each
    rows = project.manage("cache_rows", "--once", "--schedule-all")
    assert "scheduled 2 rows of blog.post" in rows.stdout
    assert "1 pass(es): 2 rows refreshed, 0 removed" in rows.stdout
    assert "1 pass(es): 0 rows refreshed" in project.manage("cache_rows", "--once").stdout
    assert "rescale_viewed: kept 1" in project.manage("rescale_viewed", "--once").stdout
    cleaned = project.manage("clean_sessions", "--once")
    assert "1 pass(es), removed 0 sessions" in cleaned.stdout + cleaned.stderr
    # the doctor: a report, whatever it makes of this run's server
    doctor = project.manage("redis_doctor", ok=False)
    assert doctor.returncode == (1 if "FAIL" in doctor.stdout else 0), doctor.stderr
    assert re.search(r"^OK +connection", doctor.stdout, re.M)
    assert re.search(r"^OK +loop clean_sessions +last pass", doctor.stdout, re.M)
