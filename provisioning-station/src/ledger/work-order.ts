/** Work order validation, shared by every ledger backend. */
import { isTriadkitError, parseGenieProductId, parseProductKey, TriadkitError } from "@triadkit/protocol";
import type { NewWorkOrder, ProductFamily, TriadIdentity, WorkOrder } from "./types.js";

const WORK_ORDER_ID = /^[^\s\p{C}]{1,64}$/u;
const FIRMWARE_VERSION = /^\d{1,9}(\.\d{1,9}){1,3}$/;

function bad(message: string, context?: Record<string, unknown>): never {
  throw new TriadkitError("ledger.bad_work_order", message, context);
}

/** The product's family: decimal text is a Tmall Genie Product ID, anything else must be an Alibaba ProductKey. */
export function productFamily(product: string): { family: ProductFamily; product: string } {
  const text = product.trim();
  try {
    if (/^\d+$/.test(text)) return { family: "genie", product: String(parseGenieProductId(text)) };
    return { family: "alibaba", product: parseProductKey(text).value };
  } catch (err) {
    if (!isTriadkitError(err)) throw err;
    return bad("product must be an Alibaba ProductKey or a decimal Tmall Genie Product ID", { cause: err.code });
  }
}

/** Checks and normalises a new work order (trimmed text, canonical product). */
export function validateWorkOrder(input: NewWorkOrder, createdAt: number): WorkOrder {
  const id = input.id.trim();
  if (!WORK_ORDER_ID.test(id)) bad("work order id must be 1–64 characters without spaces");
  const { family, product } = productFamily(input.product);
  const model = input.model.trim();
  if (model === "" || model.length > 128) bad("model must be 1–128 characters");
  const minFirmware = input.minFirmware.trim();
  if (!FIRMWARE_VERSION.test(minFirmware)) bad("minimum firmware must be a dotted version such as 1.2.3");
  if (input.quantity !== undefined && (!Number.isSafeInteger(input.quantity) || input.quantity < 1)) {
    bad("quantity must be a whole number of at least 1", { quantity: input.quantity });
  }
  const line = input.line?.trim();
  const brand = input.brand?.trim();
  return {
    id,
    product,
    family,
    model,
    minFirmware,
    createdAt,
    ...(input.quantity === undefined ? {} : { quantity: input.quantity }),
    ...(line === undefined || line === "" ? {} : { line }),
    ...(brand === undefined || brand === "" ? {} : { brand }),
  };
}

/** Whether a row's identity belongs to the work order's product. */
export function identityMatchesProduct(identity: TriadIdentity, order: WorkOrder): boolean {
  if (identity.family !== order.family) return false;
  return identity.family === "alibaba"
    ? identity.productKey === order.product
    : String(identity.productId) === order.product;
}
