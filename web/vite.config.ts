import { defineConfig } from "vite";

// `cellblock serve` embeds the build (see cmake/EmbedWeb.cmake, which passes --outDir inside the
// CMake binary directory). `npm run dev` proxies /api to a running server or to dev/mock-server.mjs.
export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: {
      "/api": process.env.CELLBLOCK_URL ?? "http://127.0.0.1:8787",
      "/login": process.env.CELLBLOCK_URL ?? "http://127.0.0.1:8787",
    },
  },
});
