// tickerwatch's web client starts here: the styles, the API's configuration, then the router.
import "./style.css";
import { loadConfig } from "./api.js";
import { startRouter } from "./router.js";

loadConfig().then(startRouter);
