// Which navigation link is the current page's: a link is current on its own path and the paths below
// it, so "/predictions" is History's and not Predict's ("/predict" is a prefix of it, not a parent).
export function isCurrent(path, href) {
  return path === href || path.startsWith(`${href}/`);
}
