// Declared once, in @tokenvault/kit (the store's service tokens log through the same type);
// re-exported so this package's modules import it as before.
export { consoleLogger, silentLogger, type Logger } from "@tokenvault/kit";
