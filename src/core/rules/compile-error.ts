/** A rule that cannot run: names the rule and the path inside it, e.g. `when.text.matches[2]`. */
export class RuleCompileError extends Error {
  readonly ruleName: string;
  readonly path: string;

  constructor(ruleName: string, path: string, problem: string) {
    super(`rule "${ruleName}", ${path}: ${problem}`);
    this.name = 'RuleCompileError';
    this.ruleName = ruleName;
    this.path = path;
  }
}
