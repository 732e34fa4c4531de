"""Say loudly at start when the gateway runs with development settings (开发环境警告).

``ENVIRONMENT`` defaults to ``development``, where public development secrets are accepted.
That is right on a developer's machine and dangerous anywhere else, so start-up logs a
WARNING naming each insecure thing in use.
"""
from __future__ import annotations

import logging
from kit.settings import DEV_SECRET

logger = logging.getLogger("gateway")


def insecure_settings(settings) -> list[str]:
    """What is insecure about these settings, in plain words (empty outside development)."""
    if settings.environment != "development":
        return []
    found = []
    if settings.secret_key == DEV_SECRET:
        found.append("SECRET_KEY is the public development value (anyone can sign tokens)")
    if not settings.contact_key:
        found.append("CONTACT_KEY is unset: reporters' contact details are sealed with a "
                     "public development key")
    if not settings.partner_webhook_key:
        found.append("PARTNER_WEBHOOK_KEY is unset: partners' webhook secrets are sealed for "
                     "notify with a public development key")
    if settings.demo_accounts:
        found.append("DEMO_ACCOUNTS is on: accounts with public passwords exist")
    return found


def warn_if_development(settings) -> None:
    """One WARNING line at start when ENVIRONMENT is development (the default)."""
    if settings.environment != "development":
        return
    problems = insecure_settings(settings) or ["development mode accepts development secrets"]
    logger.warning("ENVIRONMENT=development (the default): NOT FOR PRODUCTION; %s. Set "
                   "ENVIRONMENT=production with SECRET_KEY and CONTACT_KEY to refuse them.",
                   "; ".join(problems))
