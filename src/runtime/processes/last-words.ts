/**
 * The mark that starts a process worker's last message on its stderr (see
 * `WorkerChannel.lastWords`): a record separator, so no line a task prints
 * starts with it by chance.
 */
export const LAST_WORDS = "\u001etrellis-last-words:";
