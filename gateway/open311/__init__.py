"""Open311 GeoReport v2 for partner platforms (协作平台): the county's campaign as an
Open311 endpoint under ``/open311/v2``. ``mapping`` is the pure translation (categories to
services, forms to clues, filters, the ledger's states to requests, JSON and XML);
``store`` the gateway's record of which partner submitted which request; ``routes`` the
thin HTTP shell."""
