/**
 * The query a resident process (../cli/ResidentServer.ts) adds to the URL of every module
 * that one command loads afresh, so that the next command's import of the same file is a
 * new module; and its removal from text that shows such URLs (a failed node's stack).
 */
const query = "ablate-command"

/** `url` as command number `command` loads it. */
export const tag = (url: string, command: number): string => `${url}${url.includes("?") ? "&" : "?"}${query}=${command}`

/** `text` with every module URL's command tag removed. */
export const untag = (text: string): string => text.replace(new RegExp(`[?&]${query}=\\d+`, "g"), "")
