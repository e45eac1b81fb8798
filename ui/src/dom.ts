// The one DOM helper every module uses.

/** The element with this id (the page always has it). */
export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T
