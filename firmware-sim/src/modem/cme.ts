/** `+CME ERROR` codes the modem's tables use, and the line for one under `AT+CMEE` (3GPP TS 27.007 §9.2). */
import { CME_ERRORS } from "@triadkit/sdk";

export const CME = {
  PHONE_FAILURE: 0,
  OPERATION_NOT_ALLOWED: 3,
  OPERATION_NOT_SUPPORTED: 4,
  SIM_NOT_INSERTED: 10,
  SIM_PIN_REQUIRED: 11,
  SIM_PUK_REQUIRED: 12,
  SIM_FAILURE: 13,
  SIM_BUSY: 14,
  SIM_WRONG: 15,
  INCORRECT_PASSWORD: 16,
  NO_NETWORK_SERVICE: 30,
  INCORRECT_PARAMETERS: 50,
  UNKNOWN: 100,
} as const;

/** The verbose (`AT+CMEE=2`) text of a CME code, from the SDK's table, or `undefined` for codes outside it. */
export function cmeText(code: number): string | undefined {
  return Object.hasOwn(CME_ERRORS, code) ? CME_ERRORS[code] : undefined;
}

/** The final result line for a CME error under `AT+CMEE=<cmee>` (2 falls back to the number for unknown codes). */
export function cmeErrorLine(code: number, cmee: 0 | 1 | 2): string {
  if (cmee === 0) return "ERROR";
  const text = cmee === 2 ? cmeText(code) : undefined;
  return `+CME ERROR: ${text ?? code}`;
}
