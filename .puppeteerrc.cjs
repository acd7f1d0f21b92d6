// whatsapp-web.js drives Puppeteer; the browser is Debian's `chromium`, never a download at install time.
module.exports = { skipDownload: true };
