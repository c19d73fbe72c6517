/** The error of a bad option of `run()`, `resume()` or an executor: `INVALID_OPTION`, naming the option, what it must be and what it got. */
import { ErrorCodes, TrellisError } from "../errors.ts";

export function invalidOption(option: string, expected: string, got: unknown): never {
  throw new TrellisError(
    ErrorCodes.INVALID_OPTION,
    `run(): option \`${option}\` must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`,
    {
      option,
    },
  );
}
