import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

import { precompress } from "./tools/precompress.ts";

// The API base URL is not baked in: the static server serves /config.js at run time.
// Source maps stay out of the default build (they would publish the source); set
// WEB_SOURCEMAP=1 for maps that are written but not linked from the bundle.
export default defineConfig({
  plugins: [react(), precompress()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: process.env.WEB_SOURCEMAP === "1" ? "hidden" : false,
  },
  server: { port: 3000, strictPort: true },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
