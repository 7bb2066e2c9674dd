// Declared once, in @tokenvault/kit; re-exported so this package's modules import it as before.
export { systemClock, type Clock } from "@tokenvault/kit";
