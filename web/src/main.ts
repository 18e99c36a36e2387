import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createAppRouter, returnToLoginWhenSessionEnds } from './router';
import './styles/base.css';

const app = createApp(App);
app.use(createPinia());
const router = createAppRouter();
app.use(router);
returnToLoginWhenSessionEnds(router);
app.mount('#app');
