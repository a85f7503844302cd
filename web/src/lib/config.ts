/** Run-time settings: `/config.js` (served by the static server) sets `window.SHOPMESH_CONFIG`. */

export interface RuntimeConfig {
  apiBase?: string;
}

declare global {
  interface Window {
    SHOPMESH_CONFIG?: RuntimeConfig;
  }
}

interface PageLocation {
  protocol: string;
  hostname: string;
}

/**
 * The gateway's base URL, without a trailing slash.
 *
 * Unset means the gateway on port 8080 of the page's own host name, so the
 * SameSite=Strict refresh cookie counts as same-site.
 */
export function resolveApiBase(config: RuntimeConfig | undefined, location: PageLocation): string {
  const configured = config?.apiBase?.trim();
  if (configured) {
    return configured.replace(/\/+$/, "");
  }
  const host = location.hostname.includes(":") ? `[${location.hostname}]` : location.hostname;
  return `${location.protocol}//${host}:8080`;
}

export function apiBase(): string {
  return resolveApiBase(window.SHOPMESH_CONFIG, window.location);
}
