"""The bundled news-day replay and local alert receivers used by `newswatch demo` and e2e tests."""

from newswatch.demo.newsday import NewsDay, load_newsday
from newswatch.demo.receivers import SmtpReceiver, WebhookReceiver
from newswatch.demo.site import NewsDaySite

__all__ = ["NewsDay", "NewsDaySite", "SmtpReceiver", "WebhookReceiver", "load_newsday"]
