/** Every benchmark, in the order `npm run bench` runs them. */
import { burn } from "./burn.js";
import { fleet } from "./fleet.js";
import { importBench } from "./import.js";
import { monitor } from "./monitor.js";
import { pgReserve } from "./pg-reserve.js";
import { signing } from "./signing.js";
import { stormBench } from "./storm.js";
import type { Benchmark } from "./types.js";

export const BENCHMARKS: readonly Benchmark[] = [signing, burn, importBench, monitor, fleet, stormBench, pgReserve];
