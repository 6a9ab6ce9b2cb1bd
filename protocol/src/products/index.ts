/** Product recommendation tables (商品推荐表) for smart shelves: links, tables, the push service. */
export * from "./push.js";
export * from "./table.js";
export * from "./url.js";
