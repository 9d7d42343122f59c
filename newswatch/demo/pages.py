"""The demo news day's documents (RSS, sitemap, listing, articles, live page) rendered per step."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from html import escape
from typing import TypeVar

from newswatch.demo.newsday import LIVE_ID, NewsDay, Outlet, Story, Timeline

HTML = "text/html; charset=utf-8"
XML = "application/xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"

# Consent notices change wording on "consent-banner" steps: a cosmetic edit that must not alert.
_CONSENT = {
    "broadcaster": (
        "We use cookies and similar technologies to run this site, to measure how it is used and"
        " to show you relevant content. You can accept them all or choose which ones to allow.",
        "{name} and its partners use cookies to keep this site working, to understand how it is"
        " used and to personalise what you see. Accept all cookies or manage your preferences.",
    ),
    "wire": ("This site uses cookies. By continuing to browse you agree to their use.",),
}
_EMBED = (
    '<div class="embed-consent" data-provider="player"><p>We need your permission to load this'
    " video player. It can set cookies on your device and collect data about your activity."
    " Review its details and accept them to load the content.</p>"
    "<button>Manage preferences</button></div>"
)
_NAV = {
    "broadcaster": (("news", "News"), ("news/world", "World"), ("news/ireland", "Ireland"),
                    ("sport", "Sport"), ("weather", "Weather")),
    "wire": (("latest", "Latest"), ("world", "World"), ("business", "Business")),
}  # fmt: skip
_CUT = "<!--cut-->"

Renderer = Callable[[int], tuple[str, str] | None]
_T = TypeVar("_T")


def _e(text: str) -> str:
    return escape(text, quote=True)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def _hm(when: datetime) -> str:
    return when.strftime("%H:%M")


def _time(when: datetime) -> str:
    return f'<time datetime="{_iso(when)}">{_hm(when)}</time>'


def _json_ld(data: dict[str, object]) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=1).replace("</", "<\\/")
    return f'<script type="application/ld+json">\n{text}\n</script>'


class Pages:
    """Renders every path of the site at a step; None means the path does not exist then."""

    def __init__(self, day: NewsDay, base: str, timeline: Timeline) -> None:
        self.day = day
        self.base = base
        self.timeline = timeline
        self.live_path = f"/{day.live.outlet}/news/live/{day.live.slug}/"
        self._routes: dict[str, Renderer] = {
            "/robots.txt": lambda step: (self.robots(), TEXT),
            "/": lambda step: (self.home(step), HTML),
            self.live_path: lambda step: (self.live(step), HTML),
        }
        for outlet in day.outlets:
            for name, path in self._outlet_paths(outlet).items():
                kind = name.rsplit("-", 1)[1]
                self._routes[path] = self._index_renderer(outlet, kind)
        for story in day.stories:
            self._routes[self.story_path(story)] = self._story_renderer(story)

    def render(self, path: str, step: int) -> tuple[bytes, str] | None:
        route = self._routes.get(path)
        rendered = route(step) if route else None
        return None if rendered is None else (rendered[0].encode("utf-8"), rendered[1])

    def source_paths(self) -> dict[str, str]:
        """Source name -> path, as config/demo.yaml names them."""
        paths = {n: p for o in self.day.outlets for n, p in self._outlet_paths(o).items()}
        return {**paths, f"{self.day.live.outlet}-live": self.live_path}

    def story_path(self, story: Story) -> str:
        section = story.section.lower()
        if self.day.outlet(story.outlet).kind == "wire":
            return f"/{story.outlet}/{section}/{story.slug}.html"
        return f"/{story.outlet}/news/{section}/{story.slug}/"

    def step_time(self, step: int) -> datetime:
        return self.timeline.at(self.day.steps[step].clock)

    def _outlet_paths(self, outlet: Outlet) -> dict[str, str]:
        if outlet.kind == "wire":
            return {
                f"{outlet.key}-sitemap": f"/{outlet.key}/sitemap-news.xml",
                f"{outlet.key}-latest": f"/{outlet.key}/latest/",
            }
        return {f"{outlet.key}-news": f"/{outlet.key}/feeds/news.rss"}

    def _index_renderer(self, outlet: Outlet, kind: str) -> Renderer:
        if kind == "sitemap":
            return lambda step: (self.sitemap(outlet, step), XML)
        if kind == "latest":
            return lambda step: (self.listing(outlet, step), HTML)
        return lambda step: (self.rss(outlet, step), RSS)

    def _story_renderer(self, story: Story) -> Renderer:
        return lambda step: (self.article(story, step), HTML) if story.step <= step else None

    # --- machine-readable indexes -------------------------------------------------------------

    def robots(self) -> str:
        lines = ["# newswatch demo site: everything the demo needs is allowed", "User-agent: *"]
        for outlet in self.day.outlets:
            lines.append(f"Disallow: /{outlet.key}/account/")
            if outlet.kind == "wire":
                lines.append(f"Disallow: /{outlet.key}/search")
        sitemaps = [p for o in self.day.outlets for n, p in self._outlet_paths(o).items()
                    if n.endswith("-sitemap")]  # fmt: skip
        lines += ["Allow: /", "", *(f"Sitemap: {self.base}{p}" for p in sitemaps)]
        return "\n".join(lines) + "\n"

    def rss(self, outlet: Outlet, step: int) -> str:
        feed_url = self.base + self._outlet_paths(outlet)[f"{outlet.key}-news"]
        items = []
        for story in self.day.stories_at(step, outlet.key):
            published = format_datetime(self.timeline.at(story.clock), usegmt=True)
            items.append(
                f"<item><title>{_e(story.headline)}</title>"
                f"<link>{_e(self.base + self.story_path(story))}</link>"
                f'<guid isPermaLink="false">{_e(outlet.key)}-{_e(story.id)}</guid>'
                f"<pubDate>{published}</pubDate><dc:creator>{_e(story.author)}</dc:creator>"
                f"<category>{_e(story.section)}</category>"
                f"<description>{_e(story.summary)}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"'
            ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n'
            f"<title>{_e(outlet.short)} News</title><link>{self.base}/{outlet.key}/</link>\n"
            f"<description>Latest stories from {_e(outlet.name)}</description>\n"
            f"<language>{outlet.language.lower()}</language>\n"
            f"<lastBuildDate>{format_datetime(self.step_time(step), usegmt=True)}</lastBuildDate>\n"
            f'<atom:link href="{_e(feed_url)}" rel="self" type="application/rss+xml"/>\n'
            + "\n".join(items)
            + "\n</channel>\n</rss>\n"
        )

    def sitemap(self, outlet: Outlet, step: int) -> str:
        urls = []
        for story in self.day.stories_at(step, outlet.key):
            published = _iso(self.timeline.at(story.clock))
            urls.append(
                f"<url><loc>{_e(self.base + self.story_path(story))}</loc>"
                f"<lastmod>{_iso(self._modified(story, step))}</lastmod>"
                f"<news:news><news:publication><news:name>{_e(outlet.name)}</news:name>"
                f"<news:language>{outlet.language[:2]}</news:language></news:publication>"
                f"<news:publication_date>{published}</news:publication_date>"
                f"<news:title>{_e(story.headline)}</news:title></news:news></url>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
            ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">\n'
            + "\n".join(urls)
            + "\n</urlset>\n"
        )

    # --- HTML pages ---------------------------------------------------------------------------

    def listing(self, outlet: Outlet, step: int) -> str:
        stories = self.day.stories_at(step, outlet.key)
        teasers = "\n".join(
            f'<article class="teaser"><p class="section">{_e(s.section)}</p>'
            f'<h2><a href="{_e(self.story_path(s))}">{_e(s.headline)}</a></h2>'
            f"<p>{_e(s.summary)}</p>{_time(self.timeline.at(s.clock))}</article>"
            for s in stories
        )
        popular = self._rotate(sorted(stories, key=lambda s: s.id)[:4], step)
        most_read = "".join(
            f'<li><a href="{_e(self.story_path(s))}">{_e(s.headline)}</a></li>' for s in popular
        )
        main = (
            f'<h1>Latest news</h1><p class="updated">Last updated {_time(self.step_time(step))}</p>'
            f'\n<section class="latest">\n{teasers}\n</section>\n'
            f'<aside class="most-read"><h2>Most read</h2><ol>{most_read}</ol></aside>'
        )
        url = self.base + self._outlet_paths(outlet)[f"{outlet.key}-latest"]
        return self._page(outlet, step, title="Latest news", canonical=url, head="", main=main)

    def article(self, story: Story, step: int) -> str:
        outlet = self.day.outlet(story.outlet)
        url = self.base + self.story_path(story)
        published, modified = self.timeline.at(story.clock), self._modified(story, step)
        section = f"/{outlet.key}/{story.section.lower()}/"
        paragraphs = [f"<p>{_e(p)}</p>" for p in story.paragraphs_at(step)]
        if outlet.kind == "broadcaster" and len(paragraphs) > 3:
            paragraphs.insert(2, _EMBED)
        figure = (
            f'<figure><img src="/{outlet.key}/img/{story.slug}.jpg" alt="{_e(story.caption)}">'
            f"<figcaption>{_e(story.caption)}</figcaption></figure>"
            if story.caption
            else ""
        )
        updated = (
            f'<p class="updated">Updated {_time(modified)}</p>' if modified != published else ""
        )
        main = (
            f'<article class="story">\n<header><a class="section" href="{section}">'
            f"{_e(story.section)}</a>"
            f"<h1>{_e(story.headline)}</h1>\n"
            f'<p class="standfirst">{_e(story.summary)}</p>\n'
            f'<p class="byline">By <span class="author">{_e(story.author)}</span> '
            f"{_time(published)}</p>{updated}</header>\n{figure}\n"
            f'<div class="story-body">\n' + "\n".join(paragraphs) + "\n</div>\n</article>\n"
            f"{self._related(story.related, step, outlet)}"
        )
        head = self._article_head(story, outlet, url, published, modified)
        return self._page(outlet, step, title=story.headline, canonical=url, head=head, main=main)

    def live(self, step: int) -> str:
        spec = self.day.live
        outlet = self.day.outlet(spec.outlet)
        entries = [
            f'<article id="entry-{_e(e.id)}" class="live-entry"><header>'
            f"{_time(self.timeline.at(e.clock))}<h2>{_e(e.title)}</h2></header>"
            + "".join(f"<p>{_e(p)}</p>" for p in e.paragraphs)
            + "</article>"
            for e in self.day.live_entries_at(step)
        ]
        truncated = "live-truncated" in self.day.steps[step].cosmetic and len(entries) > 3
        shown = entries[:3] + [_CUT] if truncated else entries
        url, updated = self.base + self.live_path, self.step_time(step)
        data: dict[str, object] = {
            "@context": "https://schema.org", "@type": "LiveBlogPosting", "headline": spec.title,
            "description": spec.summary, "url": url, "dateModified": _iso(updated),
            "coverageStartTime": _iso(self.timeline.at(spec.entries[0].clock)),
        }  # fmt: skip
        main = (
            f'<h1>{_e(spec.title)}</h1><p class="standfirst">{_e(spec.summary)}</p>\n'
            f'<p class="live-updated">Updated {_time(updated)}</p>\n'
            '<div class="live-feed">\n' + "\n".join(shown) + "\n</div>\n"
            f"{self._related(spec.related, step, outlet)}"
        )
        head = _json_ld(data) + f'\n<meta name="description" content="{_e(spec.summary)}">'
        page = self._page(outlet, step, title=spec.title, canonical=url, head=head, main=main)
        if not truncated:
            return page
        # Cut inside the next entry's opening tags, as a dropped connection would: broken HTML.
        return page[: page.index(_CUT)] + entries[3][: entries[3].index("<h2")]

    def home(self, step: int) -> str:
        links = "".join(
            f'<li><a href="{_e(p)}">{_e(n)}</a></li>' for n, p in self.source_paths().items()
        )
        summary = self.day.steps[step].summary
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            "<title>newswatch demo news day</title></head><body><h1>newswatch demo news day</h1>"
            f"<p>Step {step} of {len(self.day.steps) - 1}: {_e(summary)}</p>"
            f"<ul>{links}</ul></body></html>\n"
        )

    # --- pieces -------------------------------------------------------------------------------

    def _modified(self, story: Story, step: int) -> datetime:
        changed = story.modified_step(step)
        return self.timeline.at(story.clock) if changed == story.step else self.step_time(changed)

    def _rotate(self, items: list[_T], step: int) -> list[_T]:
        """Reorders on "related-reorder" steps: a cosmetic change that must not alert."""
        if not items:
            return items
        shift = self.day.cosmetic_count("related-reorder", step) % len(items)
        return items[shift:] + items[:shift]

    def _related(self, ids: tuple[str, ...], step: int, outlet: Outlet) -> str:
        links = []
        for item in ids:
            if item == LIVE_ID:
                links.append((self.live_path, self.day.live.title))
                continue
            story = self.day.story(item)
            if story.step <= step:
                links.append((self.story_path(story), story.headline))
        if not links:
            return ""
        links = self._rotate(links, step)
        heading = "Read more" if outlet.kind == "broadcaster" else "Related coverage"
        items = "".join(f'<li><a href="{_e(p)}">{_e(t)}</a></li>' for p, t in links)
        return f'<aside class="related"><h2>{heading}</h2><ul>{items}</ul></aside>'

    def _article_head(
        self, story: Story, outlet: Outlet, url: str, published: datetime, modified: datetime
    ) -> str:
        data: dict[str, object] = {
            "@context": "https://schema.org", "@type": "NewsArticle", "headline": story.headline,
            "description": story.summary, "datePublished": _iso(published),
            "dateModified": _iso(modified), "inLanguage": outlet.language,
            "articleSection": story.section, "mainEntityOfPage": url,
            "author": [{"@type": "Person", "name": story.author}],
            "publisher": {"@type": "Organization", "name": outlet.name},
        }  # fmt: skip
        return (
            f'<meta name="description" content="{_e(story.summary)}">\n'
            f'<meta name="author" content="{_e(story.author)}">\n'
            f'<meta property="og:type" content="article">\n'
            f'<meta property="og:title" content="{_e(story.headline)}">\n'
            f'<meta property="og:url" content="{_e(url)}">\n'
            f'<meta property="article:published_time" content="{_iso(published)}">\n'
            f'<meta property="article:modified_time" content="{_iso(modified)}">\n' + _json_ld(data)
        )

    def _page(
        self, outlet: Outlet, step: int, *, title: str, canonical: str, head: str, main: str
    ) -> str:
        nav = "".join(
            f'<li><a href="/{outlet.key}/{p}/">{_e(label)}</a></li>'
            for p, label in _NAV[outlet.kind]
        )
        if outlet.key == self.day.live.outlet:
            nav += f'<li><a href="{self.live_path}">Live</a></li>'
        variants = _CONSENT[outlet.kind]
        notice = variants[self.day.cosmetic_count("consent-banner", step) % len(variants)]
        return (
            f'<!DOCTYPE html>\n<html lang="{_e(outlet.language)}">\n'
            '<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)} | {_e(outlet.short)}</title>\n"
            f'<link rel="canonical" href="{_e(canonical)}">\n{head}\n</head>\n'
            f'<body class="{outlet.kind}">\n'
            '<a class="skip-link" href="#main">Skip to main content</a>\n'
            f'<header class="site-header">'
            f'<a class="logo" href="/{outlet.key}/">{_e(outlet.name)}</a>'
            f'<nav aria-label="Sections"><ul>{nav}</ul></nav></header>\n'
            f'<div id="consent-banner" class="consent" role="dialog"><p>'
            f"{_e(notice.format(name=outlet.name))}</p><button>Accept all</button>"
            "<button>Manage preferences</button></div>\n"
            f'<main id="main">\n{main}\n</main>\n'
            f'<footer class="site-footer"><p>&copy; {_e(outlet.name)}</p><ul>'
            f'<li><a href="/{outlet.key}/about/">About us</a></li>'
            f'<li><a href="/{outlet.key}/privacy/">Privacy</a></li>'
            f'<li><a href="/{outlet.key}/account/">Sign in</a></li></ul></footer>\n'
            "</body>\n</html>\n"
        )
