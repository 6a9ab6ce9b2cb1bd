import type { ScenarioResult } from "./runner.js";

const xmlEscape = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * A JUnit XML report of a scenario run: one `<testsuite>` named after the scenario, one `<testcase>` per assertion
 * (`<failure>` when it failed), and the seed as a property and in the suite name's `replay` hint, so a failure in CI
 * can be replayed exactly with `--seed`.
 */
export function scenarioJUnit(result: ScenarioResult): string {
  const assertions = result.steps.filter((s) => s.kind === "assert");
  const failures = assertions.filter((s) => s.passed === false).length;
  const cases = assertions.map((s, i) => {
    const name = xmlEscape(`#${i + 1} at ${s.atMs} ms: ${s.name} (${s.devices} devices)`);
    const body =
      s.passed === false
        ? `\n      <failure message="${xmlEscape(s.message ?? "failed")}" type="assertion">${xmlEscape(
            `${s.message ?? ""} (replay: --seed ${result.seed})`,
          )}</failure>\n    `
        : "";
    return `    <testcase classname="${xmlEscape(`scenario.${result.name}`)}" name="${name}" time="0">${body}</testcase>`;
  });
  return [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites tests="${assertions.length}" failures="${failures}">`,
    `  <testsuite name="${xmlEscape(result.name)}" tests="${assertions.length}" failures="${failures}" errors="0" time="${(result.realMs / 1000).toFixed(3)}">`,
    "    <properties>",
    `      <property name="seed" value="${result.seed}"/>`,
    `      <property name="clock" value="${result.clock}"/>`,
    `      <property name="scenarioMs" value="${result.scenarioMs}"/>`,
    `      <property name="devices" value="${result.report.devices}"/>`,
    "    </properties>",
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
