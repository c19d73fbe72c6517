/**
 * The mark that tells `From` references and task handles apart from data.
 * It lives here, below task/, because the codec (events/) must recognise both
 * when it encodes inputs, and task/ builds them: both import it from here.
 */

/**
 * Marks a `From` reference (value `true`) so the codec can find it anywhere
 * inside inputs, and a handle (value {@link HANDLE_MARK}) so a handle passed
 * without `From` is an error instead of a copy of its id. One symbol for
 * both: the codec's fast path reads one property per object, not two.
 */
export const FROM_BRAND = Symbol.for("trellis.from");

/** The {@link FROM_BRAND} value of a handle returned by `ctx.spawn`. */
export const HANDLE_MARK = "handle";
