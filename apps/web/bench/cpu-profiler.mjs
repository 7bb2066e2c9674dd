// Preloaded into the web server by the bench's `--cpu-prof DIR` (NODE_OPTIONS=--import ...):
// Node refuses --cpu-prof in NODE_OPTIONS, so the server profiles itself through the inspector and
// writes CPU.<pid>.cpuprofile into CPU_PROFILE_DIR when it exits (a SIGTERM's shutdown included).
// SIGUSR2 starts it afresh: the bench sends it after the warm-up, so start-up and the first
// requests' compiling stay out of the profile.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

// A bench tool, not the app: it has no env.ts, and reads its one setting here.
// eslint-disable-next-line no-restricted-properties
const dir = process.env.CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 1 ms samples, as node --cpu-prof takes them.
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.on("SIGUSR2", () => session.post("Profiler.stop", () => session.post("Profiler.start")));
  process.on("exit", () => {
    // On the main thread the inspector answers synchronously: the profile is written before exit.
    session.post("Profiler.stop", (error, result) => {
      if (!error) writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
