import { defineConfig } from "vite";

// Plain static files in dist/: index.html, hashed assets/, and public/ (config.json, favicon).
export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, target: "es2020" },
  server: { proxy: { "/api": "http://127.0.0.1:8000", "/docs": "http://127.0.0.1:8000", "/event": { target: "http://127.0.0.1:8000", ws: true } } },
});
