#!/usr/bin/env python3
"""Writes the "## The lessons" section of docs/lessons.md from experiments/lessons/*.json:
per lesson its title, description, what to watch, claims and file, in the files' own
words, so that the page and the lessons cannot drift apart (tests/cli/tst_lessons.cpp
checks that every lesson's texts are on the page).
    scripts/lessons-doc.py            rewrite docs/lessons.md in place
"""
import glob
import json
import os
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
page = os.path.join(root, "docs", "lessons.md")
begin, end = "<!-- lessons: begin (scripts/lessons-doc.py) -->", "<!-- lessons: end -->"


def section(path):
    lesson = json.load(open(path))
    rel = os.path.relpath(path, root)
    stem = os.path.basename(path)[:-5]
    out = [f"### {lesson['title']}", "", lesson["description"], ""]
    image = os.path.join(root, "docs", "images", f"lesson-{stem}.png")
    if os.path.exists(image):
        out += [f"![{lesson['title']}](images/lesson-{stem}.png)", ""]
    out += [f"What to watch: {lesson['lesson']['watch']}", "", "Claims:", ""]
    for claim in lesson["lesson"]["claims"]:
        where = " (needs the CUDA backend; not applicable elsewhere)" if claim.get("requires_backend") else ""
        out.append(f"- {claim['claim']}{where}")
    out += ["", f"File: `{rel}`.", ""]
    return "\n".join(out)


def main():
    text = open(page).read()
    if begin not in text or end not in text:
        sys.exit(f"{page}: the markers {begin} and {end} are missing")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    files = sorted(glob.glob(os.path.join(root, "experiments", "lessons", "*.json")))
    body = "\n".join(section(f) for f in files)
    open(page, "w").write(head + begin + "\n\n" + body + "\n" + end + tail)
    print(f"{page}: {len(files)} lessons written")


if __name__ == "__main__":
    main()
