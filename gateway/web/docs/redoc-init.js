// ReDoc on /openapi.json, served from this origin only.
Redoc.init('/openapi.json', { hideDownloadButton: false }, document.getElementById('redoc'));
