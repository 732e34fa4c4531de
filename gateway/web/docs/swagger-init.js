// Swagger UI on /openapi.json, served from this origin only (no validator badge, no CDN).
window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: 'BaseLayout',
  deepLinking: true,
  showExtensions: true,
  validatorUrl: null,
});
