/** The air client moved to `@triadkit/sdk` (sdk/src/ble/air/); re-exported here so older imports keep working. */
export { type ConnectAirOptions, connectAir, parseAirUrl, type RemoteAir } from "@triadkit/sdk";
