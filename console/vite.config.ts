// The console's build: output goes into the Python package (api/static/console), which is committed, so
// running Baton needs no Node. Hashed file names let the API cache assets for a year.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [react()],
  base: "/console/",
  build: {
    // the canvas chunk (elkjs) loads on demand; the first load is budgeted by bench/console_bundle.py
    chunkSizeWarningLimit: 2000,
    outDir: "../api/static/console",
    emptyOutDir: true,
    assetsDir: "assets",
    // No inline <script> or module-preload polyfill: the CSP allows scripts from Baton's origin only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
    target: "es2020",
  },
  server: {
    proxy: { "/api": "http://127.0.0.1:8000" },
  },
});
