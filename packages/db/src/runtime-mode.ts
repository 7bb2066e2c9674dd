// Defined in @tokenvault/kit (the lowest package); kept here so db's importers and tests stay as they are.
export { runtimeMode, runtimeModeOf, type DatabaseKind, type RuntimeMode, type RuntimeModeName } from "@tokenvault/kit";
