"""The Streamlit app's pages (one module each) and its cached data access (`spc.ui.data`)."""
