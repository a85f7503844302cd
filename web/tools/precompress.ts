/**
 * A Vite plugin that writes a brotli (`.br`) and a gzip (`.gz`) copy next to each
 * text file of the build, so the static server sends compressed bytes without
 * compressing on every request (it picks the copy the browser accepts).
 */
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import type { Plugin, ResolvedConfig } from "vite";

const COMPRESSIBLE = [".js", ".mjs", ".css", ".html", ".svg", ".json", ".txt", ".webmanifest"];
// Below this, the headers cost more than compression saves.
const MIN_BYTES = 1024;

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(folder, entry.name);
      return entry.isDirectory() ? filesUnder(path) : Promise.resolve([path]);
    }),
  );
  return nested.flat();
}

export function compressedCopies(body: Buffer): { br: Buffer; gz: Buffer } {
  return {
    br: brotliCompressSync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    }),
    gz: gzipSync(body, { level: constants.Z_BEST_COMPRESSION }),
  };
}

async function precompressFolder(folder: string): Promise<void> {
  const files = (await filesUnder(folder)).filter((file) => COMPRESSIBLE.some((suffix) => file.endsWith(suffix)));
  await Promise.all(
    files.map(async (file) => {
      if ((await stat(file)).size < MIN_BYTES) {
        return;
      }
      const body = await readFile(file);
      const copies = compressedCopies(body);
      for (const [encoding, bytes] of Object.entries(copies)) {
        if (bytes.length < body.length) {
          await writeFile(`${file}.${encoding}`, bytes);
        }
      }
    }),
  );
}

export function precompress(): Plugin {
  let outDir = "dist";
  return {
    name: "shopmesh-precompress",
    apply: "build",
    configResolved(config: ResolvedConfig) {
      outDir = join(config.root, config.build.outDir);
    },
    async closeBundle() {
      await precompressFolder(outDir);
    },
  };
}
