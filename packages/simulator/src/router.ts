import type { Provider } from "./clients";
import type { RequestContext } from "./context";
import type { Endpoint } from "./faults";
import type { SimResponse } from "./http";

export interface Route {
  methods: readonly string[];
  /** Path pattern with :name segments, e.g. /intuit/v3/company/:realmId/companyinfo/:id */
  path: string;
  provider?: Provider;
  /** Omitted for control routes, which faults never touch. */
  endpoint?: Endpoint;
  /** The handler calls ctx.applyFaults itself, once it knows the grant (token endpoints). */
  manualFaults?: boolean;
  handle(ctx: RequestContext): SimResponse | Promise<SimResponse>;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

export type RouteMatch = { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined;

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(...routes: Route[]): this {
    for (const route of routes) {
      const names: string[] = [];
      const source = route.path
        .split("/")
        .map((segment) => {
          if (!segment.startsWith(":")) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
          names.push(segment.slice(1));
          return "([^/]+)";
        })
        .join("/");
      this.routes.push({ route, pattern: new RegExp(`^${source}/?$`), names });
    }
    return this;
  }

  /** The matching route, or the methods the path allows (for a 405), or undefined (404). */
  match(method: string, pathname: string): RouteMatch {
    const allowed: string[] = [];
    for (const { route, pattern, names } of this.routes) {
      const m = pattern.exec(pathname);
      if (!m) continue;
      if (!route.methods.includes(method)) {
        allowed.push(...route.methods);
        continue;
      }
      const params: Record<string, string> = {};
      names.forEach((name, i) => {
        params[name] = decodeURIComponent(m[i + 1]!);
      });
      return { route, params };
    }
    return allowed.length > 0 ? { allowed } : undefined;
  }
}
