/**
 * The success and info messages the web API answers, keyed so the page shows them in the operator's language. An
 * answer carries `messageKey` and `params` (the page fills `msg.<key>` from its zh-CN/en dictionary) and the English
 * `message` built from the same template (for API users and logs). `WEB_MESSAGES` is the one list of keys: the i18n
 * test checks that both dictionaries hold every one with the same placeholders. Params are public facts only.
 */

export const WEB_MESSAGES = {
  "scan.imei": "IMEI {imei}: chip {chipId}, {identity} ({state})",
  "scan.imeiUnknown": "no device with IMEI {imei} in the ledger",
  "scan.shelf": "{deviceCode}: store {storeId}, {status}",
  "scan.shelfChip": "{deviceCode}: store {storeId}, {status}, chip {chipId}",
  "scan.bleNotAvailable": "BLE burning is not available: serve has no --air or --ble-adapter",
  "scan.labelNotAvailable": "label scan-back is not available in this build",
  "scan.deviceLabel": "device label matches chip {chipId} on {fixture} ({identity})",
  "scan.cartonLabel": "carton label matches chip {chipId} on {fixture} ({identity})",
  "scan.labelNoBoard": "this label belongs to none of the boards that passed on the fixtures now",
  "scan.blePass": "BLE {mac}: PASS chip {chipId} {identity}",
  "scan.bleFail": "BLE {mac}: {detail}",
  "burn.started": "burning work order {workOrderId}",
  "burn.stopped": "burning stopped",
  "import.done": "imported {imported} triads into {workOrder} ({workOrderTotal} on the work order)",
  "import.rejected":
    "{file} rejected: {problems} problem(s) in {rows} data rows; nothing was imported. Report: {report}",
  "triad.released": "triad {identity} released: {state}",
  "triad.voided": "triad {identity} voided: {state}",
  "chip.reworked": "chip {chipId} reworked on {fixture}: {result}",
  "chip.scrapped": "chip {chipId} scrapped; triad {identity}: {state}",
  "label.printed": "label printed for chip {chipId} ({identity}, print {prints}) on {destination}",
  "label.reprinted": "label reprinted for chip {chipId} ({identity}, print {prints}) on {destination}",
  "export.written": "exported {rows} row(s) of {kind}: {file}",
  "audit.ok": "audit trail OK: {entries} entries, {checkpoints} checkpoints, head counter {headSeq}",
  "audit.failed": "audit trail FAILED verification: {problems} problem(s) in {entries} entries",
} as const;

export type WebMessageKey = keyof typeof WEB_MESSAGES;
export type WebMessageParams = Readonly<Record<string, string | number | null>>;

/** What an answer carries for the page: the key, its params, and the English text. */
export interface WebMessage {
  readonly messageKey: WebMessageKey;
  readonly params: WebMessageParams;
  readonly message: string;
}

/** The `{name}` placeholders of a template, sorted. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();
}

/** A keyed message with its English text; a missing or null param reads as `?`. */
export function webMessage(key: WebMessageKey, params: WebMessageParams): WebMessage {
  const message = WEB_MESSAGES[key].replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? "?"));
  return { messageKey: key, params, message };
}
