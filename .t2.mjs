const t0 = performance.now()
const m = (await import("node:module")); m.enableCompileCache?.(); 
await import(process.argv[2]); console.error(process.argv[2], (performance.now() - t0).toFixed(0))
