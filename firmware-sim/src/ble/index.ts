/** The real BLE centrals moved to `@triadkit/sdk` (sdk/src/ble/); re-exported here so older imports keep working. */
export {
  createNobleCentral,
  createNodeBleCentral,
  type NobleCentralOptions,
  type NodeBleCentralOptions,
} from "@triadkit/sdk";
