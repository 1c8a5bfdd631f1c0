"""The leaderboard as one static HTML page: no server, no external URL, readable offline.

Tables and text come from :func:`harness.score.render.leaderboard.document` (the same as the Markdown); plots
are the local SVG files under plots/ (with a link to the PNG). A small inline script marks the
page once every image has loaded, which the headless-browser test reads.
"""

from __future__ import annotations

from html import escape

from harness.score.leaderboard.records import Leaderboard
from harness.score.render.document import Section
from harness.score.render.leaderboard import document

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem auto; max-width: 78rem;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.4; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
h3 { font-size: 1.05rem; }
nav a { margin-right: 1rem; }
.table-wrap { overflow-x: auto; margin: .5rem 0 1rem; }
table { border-collapse: collapse; font-size: .82rem; }
caption { text-align: left; font-style: italic; padding: .2rem 0; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #f2f4f7; }
tr:nth-child(even) td { background: #fafafa; }
figure { display: inline-block; margin: .5rem 1rem 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #e0e0e0; }
figcaption { font-size: .8rem; color: #444; }
"""

# Marks the page when it has loaded and says how many images decoded (the browser test reads it).
SCRIPT = """
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var ok = images.filter(function (img) { return img.complete && img.naturalWidth > 0; }).length;
  document.body.setAttribute("data-images", String(images.length));
  document.body.setAttribute("data-images-loaded", String(ok));
  document.body.setAttribute("data-rendered", "yes");
});
"""


def _section(section: Section) -> list[str]:
    level = min(max(section.level, 1), 6)
    anchor = f' id="{escape(section.anchor)}"' if section.anchor else ""
    out = [f"<section{anchor}>", f"<h{level}>{escape(section.title)}</h{level}>"]
    out += [f"<p>{escape(paragraph)}</p>" for paragraph in section.text]
    for table in section.tables:
        out.append('<div class="table-wrap"><table>')
        if table.caption:
            out.append(f"<caption>{escape(table.caption)}</caption>")
        out.append("<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in table.header) + "</tr></thead>")
        out.append("<tbody>")
        out += ["<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in table.rows]
        out.append("</tbody></table></div>")
    for stem, caption in section.figures:
        out.append(f'<figure><img src="plots/{escape(stem)}.svg" alt="{escape(caption)}">'
                   f'<figcaption>{escape(caption)} (<a href="plots/{escape(stem)}.png">PNG</a>)</figcaption></figure>')
    out.append("</section>")
    return out


def html_page(board: Leaderboard) -> str:
    """The whole page; deterministic (no date, no random ids)."""
    sections = document(board)
    nav = [f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in sections if s.anchor]
    body: list[str] = ["<nav>" + " ".join(nav) + "</nav>"] if nav else []
    for section in sections:
        body += _section(section)
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>RecScale leaderboard</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        *body,
        f"<script>{SCRIPT}</script>",
        "</body>",
        "</html>",
        "",
    ])
