"""The staff workbench (工作台): server-rendered pages for everyone who runs the campaign.

``routes.router`` (included by ``gateway.app``) serves ``/workbench``; ``WorkbenchMiddleware``
gives those paths their session and CSRF checks. Pages are Jinja2 templates under
``templates/``, styled and enhanced by ``gateway/web/static/workbench.{css,js}`` (no asset
from elsewhere, the public pages' strict CSP). Forms of the ledger's actions are built from
the actions' specifications (``forms``).
"""
