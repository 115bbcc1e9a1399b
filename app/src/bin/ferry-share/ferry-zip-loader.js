// Starts the "Download all" module (/ferry-zip.js, the `ferry-zip` binary) for the recipients'
// page, which adds this script only when the button is clicked: the page's first load carries
// none of it. The page then awaits `window.ferryZip` for the module's one call.
import init, { download_all, download_file, open_meta } from '/ferry-zip.js';

window.ferryZip = init().then(() => ({ download_all, download_file, open_meta }));
