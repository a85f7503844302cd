// Development placeholder: the ShopMesh static server replaces this file at run time
// (from WEB_API_BASE). Leaving apiBase unset means "this host, port 8080".
window.SHOPMESH_CONFIG = window.SHOPMESH_CONFIG || {};
