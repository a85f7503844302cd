import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

// The API base URL is not baked in: the static server serves /config.js at run time.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: true,
  },
  server: { port: 3000, strictPort: true },
  test: {
    environment: "node",
    include: ["src/**/*.test.ts"],
  },
});
