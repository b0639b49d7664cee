import { CHROMIUM, CHROMIUM_INSTALL, launchChromium } from './chromium.ts';
import { describeDemo } from './demo-suite.ts';

describeDemo('headless Chromium', CHROMIUM, CHROMIUM_INSTALL, launchChromium);
